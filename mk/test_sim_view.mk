# tests/unit/test_sim_view.c fails calloc at each call of sim_view_init in
# turn and counts what is freed: calloc and free of the objects linked
# into that one test (the library's among them) go through its wrappers.
$(BUILD)/tests/test_sim_view: LDFLAGS += -Wl,--wrap=calloc -Wl,--wrap=free
