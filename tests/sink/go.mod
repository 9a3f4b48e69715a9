module heapwatch/sink

go 1.19
