"""The ``args`` and ``arg`` rules of strace.lark parsed by Lark into generic values: the path of
the argument lists that the Lark-free tokenizer (fastargs) leaves to the grammar. Imported on
first use, so that a command whose lines all take the fast paths does not import Lark."""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedInput

from .grammar import strace_parser
from .values import (
    ELLIPSIS, ArgsSyntaxError, CommentItem, DecoItem, Ellipsis_, NameItem, OpItem, ParenItem, Resuming, Str,
    Struct, interpret, parse_int, string_value, struct_value, unescape,
)


class ArgsTransformer(Transformer[Token, Any]):
    """Builds generic values from the ``args``/``arg`` parse tree."""

    def args(self, children: list[Any]) -> list[Any]:
        if len(children) == 1 and children[0] is None:
            return []
        return list(children)

    def arg(self, children: list[Any]) -> Any:
        return interpret(children)

    @v_args(inline=True)
    def string(self, tok: Token) -> Str:
        return string_value(str(tok))

    @v_args(inline=True)
    def comment(self, tok: Token) -> CommentItem:
        return CommentItem(str(tok)[2:-2].strip())

    @v_args(inline=True)
    def deco(self, tok: Token) -> DecoItem:
        return DecoItem(str(tok)[1:-1])

    @v_args(inline=True)
    def resuming(self, tok: Token) -> Resuming:
        return Resuming(str(tok).split()[3])

    @v_args(inline=True)
    def int(self, tok: Token) -> int:
        return parse_int(str(tok))

    @v_args(inline=True)
    def name(self, tok: Token) -> NameItem:
        return NameItem(str(tok))

    @v_args(inline=True)
    def op(self, tok: Token) -> OpItem:
        return OpItem(str(tok))

    @v_args(inline=True)
    def ellipsis(self, tok: Token) -> Ellipsis_:
        return ELLIPSIS

    @v_args(inline=True)
    def char(self, tok: Token) -> Str:
        return Str(unescape(str(tok)[1:-1]))

    @v_args(inline=True)
    def paren(self, args: list[Any]) -> ParenItem:
        return ParenItem(tuple(args))

    @v_args(inline=True)
    def array(self, args: list[Any]) -> list[Any]:
        return list(args)

    @v_args(inline=True)
    def struct(self, args: list[Any]) -> Struct:
        return struct_value(args)


_TRANSFORMER = ArgsTransformer()


def lark_args(text: str) -> list[Any]:
    """``values.parse_args`` of a non-blank argument list."""
    try:
        tree = strace_parser().parse(text, start="args")
    except UnexpectedInput as exc:
        raise ArgsSyntaxError(_describe(exc), exc.column if isinstance(exc.column, int) else 1) from None
    except LarkError as exc:  # pragma: no cover - grammar-level failures
        raise ArgsSyntaxError(str(exc), 1) from None
    values: list[Any] = _TRANSFORMER.transform(tree)
    return values


def lark_arg(text: str) -> Any:
    """``values.parse_arg``."""
    try:
        tree = strace_parser().parse(text, start="arg")
    except UnexpectedInput as exc:
        raise ArgsSyntaxError(_describe(exc), exc.column if isinstance(exc.column, int) else 1) from None
    return _TRANSFORMER.transform(tree)


def _describe(exc: UnexpectedInput) -> str:
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "type", None) == "$END":
        return "unexpected end of line"
    char = getattr(exc, "char", None)
    if char is not None:
        return f"unexpected character {char!r}"
    if token is not None:
        return f"unexpected {str(token)!r}"
    return "syntax error"
