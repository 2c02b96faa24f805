"""motiongpt.train"""
