"""How much of the model's recent work each client walked away from: the model slot serves clients that read
their answers before clients that hang up on theirs.

Why: one CPU model serves requests in turn, and work for a client that closes the connection mid-answer is
model time nobody reads (a retry loop that gives up after a second, a crawler, a page reloaded in a loop).
Ordered only by cost, such a client takes turns with everyone else, so each one of them adds a whole answer
to every reader's wait (soak: four hanging-up clients made a normal chat 8x its usual time). Here each
client's share of abandoned answers (a moving average over its recent requests that reached the model) adds
to the cost of its next requests, up to `ABANDONED_COST` prompt tokens: about 40 s of waiting at the slot
queue's aging rate. A client that stops once in a while (the web page's stop button) pays a fraction of
that and earns it back with each answer it reads; one that hangs up on every answer is served after the
readers that came up to 40 s later, never starved.

Clients are told apart by the caller (`api.deps.client_identity`: the API key presented where the server has
keys, else the address); the table is bounded (least recently seen clients forgotten). A walk-away is seen
on streamed answers (the stream ends before its last event); a non-streamed request whose client gives up
is still answered whole and counts as read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

ABANDONED_COST = 2000.0  # prompt tokens added for a client that abandoned all of its recent answers
WEIGHT = 0.3  # weight of the latest request in the moving average (about the last 5-6 requests count)
MAX_CLIENTS = 4096


class ClientStanding:
    """Per client, the moving share of its requests abandoned after the model started on them."""

    def __init__(self, max_clients: int = MAX_CLIENTS) -> None:
        self._share: OrderedDict[str, float] = OrderedDict()
        self._max = max_clients
        self._lock = threading.Lock()  # recorded from the event loop, read by the slot queue: cheap either way
        self.answers = {"read": 0, "abandoned": 0}  # requests the model worked for, by how they ended

    def record(self, client: str, abandoned: bool) -> None:
        """A client's request the model worked for has ended (background work, `client` "", is no one's)."""
        if not client:
            return
        with self._lock:
            self.answers["abandoned" if abandoned else "read"] += 1
            share = self._share.pop(client, 0.0)
            self._share[client] = (1 - WEIGHT) * share + WEIGHT * (1.0 if abandoned else 0.0)
            while len(self._share) > self._max:
                self._share.popitem(last=False)

    def share(self, client: str) -> float:
        with self._lock:
            return self._share.get(client, 0.0)

    def penalty(self, client: str) -> float:
        """Prompt tokens added to the cost of this client's next request in the slot queue."""
        return ABANDONED_COST * self.share(client)
