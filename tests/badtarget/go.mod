module heapwatch/badtarget

go 1.19
