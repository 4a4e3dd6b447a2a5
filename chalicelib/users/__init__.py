"""Onezone users.

- `accounts`: creating users (`POST /users`) and the bootstrap admin;
- `views`: what `GET /user`, `GET /users/{id}` and cluster member paths show of a user;
- `oz_privileges`: Onezone admin privileges (`/users/{id}/privileges`).
"""
