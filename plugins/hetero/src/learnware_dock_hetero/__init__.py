"""learnware-dock-hetero: the HeteroMap market mapping, heterogeneous search, aligners."""
