using System.Runtime.InteropServices;

namespace Allocator;

/// <summary>TEMPORARY STUB: forwards to NativeMemory until the real allocator lands (issue 3).</summary>
public static unsafe class NativeAllocator
{
    /// <summary>Allocates a block of at least <paramref name="byteCount"/> bytes.</summary>
    public static void* Alloc(nuint byteCount) => NativeMemory.Alloc(byteCount);

    /// <summary>Allocates elementCount * elementSize bytes.</summary>
    public static void* Alloc(nuint elementCount, nuint elementSize) => NativeMemory.Alloc(elementCount, elementSize);

    /// <summary>Allocates zeroed memory.</summary>
    public static void* AllocZeroed(nuint byteCount) => NativeMemory.AllocZeroed(byteCount);

    /// <summary>Allocates zeroed memory.</summary>
    public static void* AllocZeroed(nuint elementCount, nuint elementSize) => NativeMemory.AllocZeroed(elementCount, elementSize);

    /// <summary>Resizes a block.</summary>
    public static void* Realloc(void* ptr, nuint byteCount) => NativeMemory.Realloc(ptr, byteCount);

    /// <summary>Frees a block.</summary>
    public static void Free(void* ptr) => NativeMemory.Free(ptr);

    /// <summary>Aligned allocation.</summary>
    public static void* AlignedAlloc(nuint byteCount, nuint alignment) => NativeMemory.AlignedAlloc(byteCount, alignment);

    /// <summary>Aligned reallocation.</summary>
    public static void* AlignedRealloc(void* ptr, nuint byteCount, nuint alignment) => NativeMemory.AlignedRealloc(ptr, byteCount, alignment);

    /// <summary>Aligned free.</summary>
    public static void AlignedFree(void* ptr) => NativeMemory.AlignedFree(ptr);

    /// <summary>Usable size of a block.</summary>
    public static nuint UsableSize(void* ptr) => 0;
}
