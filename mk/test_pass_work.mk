# tests/unit/test_pass_work.c counts the VM steps of every statement the
# store runs: sqlite3_finalize of the objects linked into that one test
# (the library's among them) goes through its wrapper.
$(BUILD)/tests/test_pass_work: LDFLAGS += -Wl,--wrap=sqlite3_finalize
