module heapwatch/demo

go 1.19
