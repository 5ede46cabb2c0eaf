"""Scaffolding shared by the tests (and the benchmarks): scratch databases, real server
processes, the browser, waiting for what happens asynchronously, and skipping or failing
when a tool is missing. Plain modules, not fixtures: a conftest stays the place for those."""
