"""showersim"""
