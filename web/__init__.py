"""Sanchika web layer: Flask app factory, JSON API and the sign-in page."""
