"""motiongpt.data"""
