"""Service tests on fakes. A package so its modules are ``services.test_<service>`` and never collide
with a functional test of the same name (tests/functional/test_<function>.py) under pytest's default
import mode, which otherwise imports every test file by its bare name."""
