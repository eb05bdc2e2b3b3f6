using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Allocator.Benchmarks.Competitors;

namespace Allocator.Benchmarks.Workloads;

/// <summary>
/// The data check every workload does. A block gets a header word (size and tag), a word every 4 KiB (so large
/// blocks are touched page by page, as the originals touch them) and, from 16 bytes, a trailer word; blocks
/// under 8 bytes get every byte. Checking reads the same words back. Writing every byte would make memory bandwidth, not the
/// allocator, the thing measured.
/// </summary>
public static class Pattern
{
    /// <summary>Distance between checked words inside a block: one per 4 KiB page.</summary>
    public const int Stride = 4096;

    /// <summary>Writes the pattern for <paramref name="tag"/> into <paramref name="block"/>.</summary>
    /// <remarks>
    /// Inlined by force, as <see cref="Check"/>: the JIT otherwise decides by its budget for the calling method,
    /// which an inlined allocator uses up and a call to a native one does not, and a profile of glibc-thread showed
    /// ours paying 10% of its samples for a call to this method that mimalloc's run did not make.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(Span<byte> block, uint tag)
    {
        ulong header = Header(block.Length, tag);
        if (block.Length < sizeof(ulong))
        {
            for (int i = 0; i < block.Length; i++)
            {
                block[i] = (byte)(header >> (8 * i));
            }

            return;
        }

        ref byte start = ref MemoryMarshal.GetReference(block);
        int last = block.Length - sizeof(ulong);
        Unsafe.WriteUnaligned(ref start, header);
        for (int offset = Stride; offset < last - sizeof(ulong); offset += Stride)
        {
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref start, offset), header + (ulong)offset);
        }

        if (last >= sizeof(ulong))
        {
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref start, last), ~header);
        }
    }

    /// <summary>Checks the pattern written by <see cref="Write"/>; throws when it is not there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Check(ReadOnlySpan<byte> block, uint tag)
    {
        ulong header = Header(block.Length, tag);
        if (block.Length < sizeof(ulong))
        {
            for (int i = 0; i < block.Length; i++)
            {
                if (block[i] != (byte)(header >> (8 * i)))
                {
                    BlockCorruptedException.Throw(block.Length, tag, i);
                }
            }

            return;
        }

        ref byte start = ref MemoryMarshal.GetReference(block);
        int last = block.Length - sizeof(ulong);
        bool ok = Unsafe.ReadUnaligned<ulong>(ref start) == header
            && (last < sizeof(ulong) || Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, last)) == ~header);
        for (int offset = Stride; ok && offset < last - sizeof(ulong); offset += Stride)
        {
            ok = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, offset)) == header + (ulong)offset;
        }

        if (!ok)
        {
            BlockCorruptedException.Throw(block.Length, tag, -1);
        }
    }

    /// <summary>Reads the size a block was written with, from its header (blocks of 8 bytes or more).</summary>
    public static int ReadSize(ReadOnlySpan<byte> header) => (int)MemoryMarshal.Read<ulong>(header);

    /// <summary>Reads the tag a block was written with, from its header (blocks of 8 bytes or more).</summary>
    public static uint ReadTag(ReadOnlySpan<byte> header) => (uint)(MemoryMarshal.Read<ulong>(header) >> 32);

    private static ulong Header(int size, uint tag) => (uint)size | ((ulong)tag << 32);
}

/// <summary>A block's data was not what the workload wrote: the allocator is wrong.</summary>
public sealed class BlockCorruptedException(string message) : Exception(message)
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(int size, uint tag, int offset) =>
        throw new BlockCorruptedException(
            $"block of {size} bytes (tag {tag:x8}) was changed while live{(offset >= 0 ? $" at byte {offset}" : "")}");
}

/// <summary>A live block, its size and the tag its pattern was written with.</summary>
public struct Slot<TBlock>
{
    public TBlock Block;
    public int Size;
    public uint Tag;

    /// <summary>Whether the slot holds a block.</summary>
    public readonly bool IsLive => Size > 0;
}

/// <summary>Allocation with the pattern written, and freeing with the pattern checked.</summary>
public static class Blocks<THeap, TBlock> where THeap : IBlockHeap<TBlock>
{
    /// <summary>Allocates <paramref name="size"/> bytes and writes the pattern for <paramref name="tag"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TBlock New(int size, uint tag)
    {
        TBlock block = THeap.Alloc(size);
        Pattern.Write(THeap.Bytes(block, size), tag);
        return block;
    }

    /// <summary>Fills <paramref name="slot"/> with a new block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Fill(ref Slot<TBlock> slot, int size, uint tag)
    {
        slot.Block = New(size, tag);
        slot.Size = size;
        slot.Tag = tag;
    }

    /// <summary>Checks the pattern and frees the block in <paramref name="slot"/>, if any, leaving it empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Release(ref Slot<TBlock> slot)
    {
        if (slot.IsLive)
        {
            Pattern.Check(THeap.Bytes(slot.Block, slot.Size), slot.Tag);
            THeap.Free(slot.Block);
            slot = default;
        }
    }

    /// <summary>Releases every slot.</summary>
    public static void ReleaseAll(Span<Slot<TBlock>> slots)
    {
        for (int i = 0; i < slots.Length; i++)
        {
            Release(ref slots[i]);
        }
    }

    /// <summary>Checks and frees a block whose header says its size and tag (blocks of 8 bytes or more); returns
    /// the tag, which the caller should match against the tags it allocated, since an allocator that returns one
    /// address twice leaves a block that describes itself consistently as the other one.</summary>
    public static uint ReleaseSelfDescribed(TBlock block, int maxSize)
    {
        Span<byte> header = THeap.Bytes(block, sizeof(ulong));
        int size = Pattern.ReadSize(header);
        if ((uint)(size - sizeof(ulong)) > (uint)(maxSize - sizeof(ulong)))
        {
            BlockCorruptedException.Throw(size, Pattern.ReadTag(header), 0);
        }

        uint tag = Pattern.ReadTag(header);
        Pattern.Check(THeap.Bytes(block, size), tag);
        THeap.Free(block);
        return tag;
    }
}
