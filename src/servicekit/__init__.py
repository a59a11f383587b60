"""What runs inside user servers and the service containers beside the hub, never in the hub:
the masterclass library's build from its sources (``lessons``, at the user image's build) and its
sync into the home (``library``), the nbgrader exchange's client side
(``nbgrader_exchange``), the exchange's gate in front of ngshare (``exchange_gate``) and the one
way they all read a secret (``tokens``).

Nothing here imports :mod:`astrohub` (the hub and the operator's side): the ngshare image
carries this package alone.
"""
