"""``trio-server token``: mint one signed join token, for integrators and tests.

A backend that admits people to calls runs the equivalent of this (``join_tokens.mint_token``
with the server's ``--join-secret``) and hands the token to the browser page (``?token=``).
The fields are checked with the core's own join rules, so a token printed here is never one
that the server would refuse for its shape.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from signaling_core import ProtocolError, is_valid_room_id, join_message
from signaling_core._rules import parse_join
from signaling_core.join_tokens import DEFAULT_TTL_SECONDS, mint_token

from .config import MIN_JOIN_SECRET_BYTES

SECRET_ENV = "SIGNALING_JOIN_SECRET"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trio-server token",
        description="Print one signed join token (HS256 JWT) for a room, a user and a role.",
        epilog=f"The secret can (and, on a shared machine, should) come from {SECRET_ENV}: "
               "a command line is visible to other users.",
    )
    parser.add_argument("--secret", default=None,
                        help=f"the server's --join-secret [env {SECRET_ENV}]")
    parser.add_argument("--room", required=True, help="room id the token admits to")
    parser.add_argument("--user", required=True, help="userId the token admits")
    parser.add_argument("--role", required=True,
                        help="userRole: coach, client, ai (or another short word)")
    parser.add_argument("--type", dest="ptype", choices=("human", "ai"), default=None,
                        help="participantType [default: ai for role ai, else human]")
    parser.add_argument("--ttl", type=float, default=float(DEFAULT_TTL_SECONDS),
                        help=f"seconds the token stays valid [default {DEFAULT_TTL_SECONDS}]")
    return parser


def main(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    secret = args.secret if args.secret is not None else os.environ.get(SECRET_ENV)
    if not secret:
        parser.error(f"a secret is needed: --secret or {SECRET_ENV}")
    if len(secret.encode("utf-8")) < MIN_JOIN_SECRET_BYTES:
        parser.error(f"the secret must be at least {MIN_JOIN_SECRET_BYTES} bytes")
    if not is_valid_room_id(args.room):
        parser.error("--room: use 1-128 characters of A-Z a-z 0-9 _ . ~ -")
    if not args.ttl > 0:
        parser.error("--ttl must be positive")
    fields = join_message(None, args.user, args.role, participant_type=args.ptype)
    try:
        request = parse_join(fields, args.room)
    except ProtocolError as exc:
        parser.error(exc.message)
    token = mint_token(secret, room_id=args.room, user_id=request.user_id,
                       user_role=request.user_role,
                       participant_type=request.participant_type, ttl=args.ttl, now=time.time())
    sys.stdout.write(token + "\n")
    return 0
