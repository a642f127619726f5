"""Every board in England: the board register, new area configs (``pna init``) and the national
baseline (``pna england``)."""
