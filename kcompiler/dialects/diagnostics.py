"""Where an op came from, and errors that say so.

IR read from text gets a source location per op, as mlir-opt gives one: ``LocatedParser`` sets
each op's ``location`` (xDSL's ``Operation.location``) to a ``FileLineColLoc`` of the op's first
token (its first result name, else its name), unless the text spells one with ``loc(...)``.
Those locations travel with the op through passes (``clone`` keeps them); an op a pass creates
has none and is reported at its nearest located ancestor (``op_location``).

``OpError`` is a diagnostic about one op: tools print the op's location and a few lines of the
source around it instead of the whole module. ``verify_located`` verifies a module the way
``Operation.verify`` does, iteratively (deep nests need no Python recursion) and raising
``OpError`` naming the op that failed.

The frontend records Python source lines in a separate ``loc`` string attribute
(``kernel.py:12``); ``source_line_of`` reads it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from xdsl.context import Context
from xdsl.dialects.builtin import FileLineColLoc, IntAttr, ModuleOp, StringAttr
from xdsl.ir import Block, Operation
from xdsl.parser import Parser
from xdsl.traits import NoTerminator
from xdsl.utils.exceptions import DiagnosticException, ParseError

__all__ = [
    "MAX_NESTING",
    "LocatedParser",
    "OpError",
    "op_location",
    "parse_located",
    "postorder",
    "source_line_of",
    "verify_located",
]

# Ops nested inside each other's regions (the module, a kernel, a tile.for in a tile.for ...).
# Parsing, printing and most passes recurse once per level through several Python frames;
# kc-opt runs them on a large thread stack that holds several times this depth, a wide
# margin. Beyond it the parser reports the op that goes one level too deep. Real kernels nest
# a handful of loops.
MAX_NESTING = 4096


class OpError(DiagnosticException):
    """A diagnostic about ``op``: ``str(e)`` is the message alone, ``e.op`` the culprit."""

    def __init__(self, message: str, op: Operation):
        super().__init__(message)
        self.message = message
        self.op = op


def op_location(op: Operation) -> FileLineColLoc | None:
    """The text location of ``op``, else of its nearest ancestor that has one."""
    current: Operation | None = op
    while current is not None:
        if isinstance(current.location, FileLineColLoc):
            return current.location
        current = current.parent_op()
    return None


def source_line_of(op: Operation) -> str | None:
    """The Python source line (``kernel.py:12``) the frontend traced ``op`` from, if any."""
    loc = op.attributes.get("loc")
    return loc.data if isinstance(loc, StringAttr) else None


class LocatedParser(Parser):
    """An MLIR parser that records each op's ``file:line:col`` as its location and refuses
    regions nested deeper than ``max_nesting``.

    ``line_offset`` is added to line numbers: the number of lines before this text in the
    file (a chunk of ``--split-input-file``)."""

    def __init__(
        self,
        ctx: Context,
        text: str,
        name: str = "<unknown>",
        line_offset: int = 0,
        max_nesting: int = MAX_NESTING,
    ):
        super().__init__(ctx, text, name)
        self.file_name = StringAttr(name)
        self.line_offset = line_offset
        self.max_nesting = max_nesting
        self.depth = 0
        self.line_starts = [0]
        pos = text.find("\n")
        while pos != -1:
            self.line_starts.append(pos + 1)
            pos = text.find("\n", pos + 1)

    def location_at(self, pos: int) -> FileLineColLoc:
        index = bisect.bisect_right(self.line_starts, pos) - 1
        return FileLineColLoc(
            self.file_name,
            IntAttr(index + 1 + self.line_offset),
            IntAttr(pos - self.line_starts[index] + 1),
        )

    def parse_operation(self) -> Operation:
        start = self.pos
        if self.depth >= self.max_nesting:
            self.raise_error(
                f"ops nested more than {self.max_nesting} deep (kc-opt's limit; "
                "each region of an op is one level)",
                start,
                start + 1,
            )
        self.depth += 1
        try:
            op = super().parse_operation()
        except ParseError:
            raise
        except (DiagnosticException, ValueError) as e:
            # A parse hook or an attribute's verifier refused what it read: report it at the
            # op being parsed (the innermost one) instead of without a location.
            self.raise_error(str(e), start, start + 1)
        finally:
            self.depth -= 1
        if not isinstance(op.location, FileLineColLoc):
            op.location = self.location_at(start)
        return op


def postorder(root: Operation) -> Iterator[Operation]:
    """Every op under ``root`` (included), nested ops before their parent, siblings in order;
    iterative, so nesting depth costs no Python recursion."""
    stack: list[tuple[Operation, bool]] = [(root, False)]
    while stack:
        op, expanded = stack.pop()
        if expanded:
            yield op
            continue
        stack.append((op, True))
        children = [
            inner for region in op.regions for block in region.blocks for inner in block.ops
        ]
        stack.extend((child, False) for child in reversed(children))


def _check_block(block: Block, owner: Operation) -> None:
    """The structural checks ``Region.verify`` / ``Block.verify`` make besides recursing."""
    region = block.parent
    if region is None or region.parent is not owner:
        raise OpError("a block's parent pointer does not refer to its containing region", owner)
    for op in block.ops:
        if op.parent is not block:
            raise OpError("an op's parent pointer does not refer to its containing block", op)
    if block.first_op is None and len(region.blocks) == 1 and not owner.has_trait(NoTerminator):
        raise OpError(
            f"{owner.name} contains an empty block in a single-block region that expects "
            "at least a terminator",
            owner,
        )


def verify_located(root: Operation) -> None:
    """Verify ``root`` and everything nested in it, as ``root.verify()`` does (nested ops
    first); the first failure is an ``OpError`` on the op that failed, without the module
    dump xDSL attaches to its exception."""
    for op in postorder(root):
        for region in op.regions:
            for block in region.blocks:
                _check_block(block, op)
        try:
            op.verify(verify_nested_ops=False)
        except OpError:
            raise
        except (DiagnosticException, ValueError) as e:
            raise OpError(str(e), op) from None


def parse_located(
    ctx: Context, text: str, name: str, line_offset: int = 0, *, implicit_module: bool = True
) -> ModuleOp:
    """Parse ``text`` with ``LocatedParser`` (op locations, nesting limit)."""
    return LocatedParser(ctx, text, name, line_offset).parse_module(implicit_module)
