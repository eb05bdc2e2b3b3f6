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
