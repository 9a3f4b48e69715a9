module heapwatch/genprof

go 1.19
