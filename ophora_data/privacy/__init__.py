"""Privacy: face and burned-in-text detection, temporal smoothing, blurring, verification."""
