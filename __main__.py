"""The Pulumi program: load this stack's validated settings and build the stack."""

from stacks import build

build()
