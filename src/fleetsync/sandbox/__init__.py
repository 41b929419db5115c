"""A faithful local stand-in for Google's Directory and Chrome Policy APIs."""
