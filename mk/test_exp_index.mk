# tests/unit/test_exp_index.c counts the ids a lookup compares: strcmp of
# the objects linked into that one test (the library's among them) goes
# through its wrapper.
$(BUILD)/tests/test_exp_index: LDFLAGS += -Wl,--wrap=strcmp
