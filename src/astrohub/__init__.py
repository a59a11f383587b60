"""astrohub"""
