"""Synthetic training data and training of the refiner and scorer networks (ROS-free)."""
