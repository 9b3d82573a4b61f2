"""Rasa SDK custom actions. Thin: they read the tracker and call the core package `hotline`."""
