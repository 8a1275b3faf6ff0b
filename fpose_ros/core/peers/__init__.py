"""What a CPU user would use instead of fpose_ros, run on the same frames for comparison."""
