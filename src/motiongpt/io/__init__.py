"""motiongpt.io"""
