module heapwatch/bench/profserve

go 1.19
