"""motiongpt.demo"""
