using System.Buffers;

namespace Allocator.Benchmarks.Competitors;

/// <summary>The GC: <c>new byte[size]</c>; freeing is dropping the reference.</summary>
public struct GcHeap : IBlockHeap<byte[]>
{
    public static byte[] Alloc(int size) => new byte[size];

    public static void Free(byte[] block)
    {
    }

    public static Span<byte> Bytes(byte[] block, int size) => block.AsSpan(0, size);
}

/// <summary><see cref="ArrayPool{T}.Shared"/>: rent and return.</summary>
public struct ArrayPoolHeap : IBlockHeap<byte[]>
{
    public static byte[] Alloc(int size) => ArrayPool<byte>.Shared.Rent(size);

    public static void Free(byte[] block) => ArrayPool<byte>.Shared.Return(block);

    public static Span<byte> Bytes(byte[] block, int size) => block.AsSpan(0, size);
}

/// <summary>
/// This project's <see cref="Allocator.Buffers.NativeMemoryPool"/>: rent an owner, dispose it. The block is native
/// memory from NativeAllocator; the owner is one small GC object per rent.
/// </summary>
public struct NativePoolHeap : IBlockHeap<IMemoryOwner<byte>>
{
    public static IMemoryOwner<byte> Alloc(int size) => Allocator.Buffers.NativeMemoryPool.Shared.Rent(size);

    public static void Free(IMemoryOwner<byte> block) => block.Dispose();

    public static Span<byte> Bytes(IMemoryOwner<byte> block, int size) => block.Memory.Span[..size];
}
