namespace Allocator.Benchmarks.Competitors;

/// <summary>
/// A pointer-based allocator with NativeMemory's shape. Implemented by structs whose members are static, so a
/// generic method instantiated over one (<c>Run&lt;MimallocHeap&gt;()</c>) is compiled with direct calls and no
/// interface dispatch: the comparison measures the allocators, not the harness.
/// </summary>
public unsafe interface INativeHeap
{
    /// <summary>The short name used on the command line and in result tables.</summary>
    static abstract string Name { get; }

    /// <summary>Allocates at least <paramref name="size"/> bytes.</summary>
    static abstract void* Alloc(nuint size);

    /// <summary>Allocates at least <paramref name="size"/> zeroed bytes.</summary>
    static abstract void* AllocZeroed(nuint size);

    /// <summary>Resizes a block, keeping its contents.</summary>
    static abstract void* Realloc(void* block, nuint size);

    /// <summary>Frees a block.</summary>
    static abstract void Free(void* block);

    /// <summary>Gives free memory back to the OS now; false when the allocator has no such call.</summary>
    static abstract bool Collect();
}

/// <summary>
/// The allocator surface the workloads use: a block is a native pointer (<see cref="nint"/>) or a managed array,
/// so the GC and <see cref="System.Buffers.ArrayPool{T}"/> compete in the same workloads.
/// </summary>
public interface IBlockHeap<TBlock>
{
    /// <summary>Allocates a block of at least <paramref name="size"/> bytes.</summary>
    static abstract TBlock Alloc(int size);

    /// <summary>Releases a block (for the GC: drops it).</summary>
    static abstract void Free(TBlock block);

    /// <summary>The first <paramref name="size"/> bytes of a block.</summary>
    static abstract Span<byte> Bytes(TBlock block, int size);
}

/// <summary>Adapts a pointer allocator to the workload surface.</summary>
public unsafe struct NativeBlocks<THeap> : IBlockHeap<nint> where THeap : INativeHeap
{
    public static nint Alloc(int size) => (nint)THeap.Alloc((nuint)size);

    public static void Free(nint block) => THeap.Free((void*)block);

    public static Span<byte> Bytes(nint block, int size) => new((void*)block, size);
}
