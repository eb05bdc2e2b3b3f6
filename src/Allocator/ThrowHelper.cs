using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Allocator;

/// <summary>Builds and throws the library's exceptions, out of line so that hot methods stay small.</summary>
internal static unsafe class ThrowHelper
{
    private static string Hex(void* ptr) => "0x" + ((nuint)ptr).ToString("x", CultureInfo.InvariantCulture);

    /// <summary>A pointer that is not the start of a live block of this allocator.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ArgumentException NotABlock(void* ptr, string operation, string why)
    {
        Interlocked.Increment(ref Diagnostics.MetricsActivation.s_badFrees);
        return new($"NativeAllocator.{operation}: pointer {Hex(ptr)} is not a block allocated by this allocator: {why}.", "ptr");
    }

    /// <summary>A block that is already free.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static InvalidOperationException DoubleFree(void* ptr, string operation, nuint size)
    {
        Interlocked.Increment(ref Diagnostics.MetricsActivation.s_badFrees);
        return new($"NativeAllocator.{operation}: double free: the block at {Hex(ptr)}{(size != 0 ? $" ({size} bytes)" : string.Empty)} has already been freed.");
    }

    /// <summary>A request no machine can satisfy.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static OutOfMemoryException TooLarge(nuint size) =>
        new($"NativeAllocator: a block of {size} bytes cannot be allocated (the limit is {Heap.LargeBlocks.MaxRequest} bytes).");

    /// <summary>elementCount * elementSize overflowed.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowSizeOverflow(nuint count, nuint size) =>
        throw new OutOfMemoryException($"NativeAllocator: {count} elements of {size} bytes overflow the address space.");

    /// <summary>An alignment that is 0 or not a power of two.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowBadAlignment(nuint alignment) =>
        throw new ArgumentException($"NativeAllocator: the alignment must be a power of two greater than zero, not {alignment}.", nameof(alignment));

    /// <summary>A use of a <see cref="Buffers.NativeMemoryOwner{T}"/> (or of memory made from it) after Dispose.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowOwnerDisposed() =>
        throw new ObjectDisposedException("NativeMemoryOwner", "The native memory owner was disposed; its memory has gone back to the pool.");

    /// <summary>A rent from a disposed pool.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowPoolDisposed() =>
        throw new ObjectDisposedException("NativeMemoryPool", "The native memory pool was disposed; owners rented before stay valid, but it rents no more.");

    /// <summary>A rent size below -1 or above the pool's maximum.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowRentSize(int size, int max) =>
        throw new ArgumentOutOfRangeException("minBufferSize", size, $"NativeMemoryPool.Rent: the size must be -1 (the default size) or between 0 and MaxBufferSize ({max}).");

    /// <summary>A rent that would pass the pool's byte budget.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowOverBudget(long bytes, long outstanding, long budget) =>
        throw new InsufficientMemoryException($"NativeMemoryPool.Rent: {bytes} more bytes would pass the pool's budget of {budget} bytes ({outstanding} bytes are outstanding).");

    /// <summary>A pin index outside the block.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowPinIndex(int index, int length) =>
        throw new ArgumentOutOfRangeException("elementIndex", index, $"NativeMemoryOwner.Pin: the index must be between 0 and the length ({length}).");

    /// <summary>A buffer writer used after Dispose.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowWriterDisposed() =>
        throw new ObjectDisposedException("NativeBufferWriter", "The native buffer writer was disposed; its memory has been freed.");

    /// <summary>An exception built elsewhere, thrown from a cold site.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(Exception exception) => throw exception;
}
