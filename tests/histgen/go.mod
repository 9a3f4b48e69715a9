module heapwatch/histgen

go 1.19
