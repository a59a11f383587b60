"""datacentre"""
