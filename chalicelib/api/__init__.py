"""The REST API's routes, one Chalice Blueprint per area, registered by `app.py`.

- `routing`: how a route is declared (errors in Onedata's shape, the operation recorded);
- `users`, `providers`, `clusters`, `tokens`, `zone`: each area's routes, thin: parse the
  request, call one function of `chalicelib`, return its result.
"""
