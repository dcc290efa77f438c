# The chaos test (tests/chaos.sh) in a size that fits make test: 4 images,
# 6 seeded kills, 20% faults.  `make chaos` runs 20 images and 20 kills.
exec sh "$TOP/tests/chaos.sh" 4 6 0.2 42
