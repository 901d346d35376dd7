"""The service's routers, one module per group of endpoints.

* ``rerank``: ``POST /v1/rerank``, ``/v2/rerank`` (Cohere shape), ``/rerank`` (TEI shape)
* ``answer``: ``POST /v1/answer`` (included when answering is on)
* ``operations``: ``GET /healthz``, ``/readyz``, ``/metrics``

Each route reads its app's ``ServiceState`` through the ``service_state`` dependency and
scores through ``ServiceState.score``; ``create_app`` includes the routers with the API
key dependency and the documented error responses.
"""
