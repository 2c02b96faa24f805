"""motiongpt.motion"""
