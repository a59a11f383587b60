"""kcdc"""
