"""motiongpt.eval"""
