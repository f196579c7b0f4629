"""Use cases, typed on ``lockgate.ports`` only: they never import an adapter."""
