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
    public static ArgumentException NotABlock(void* ptr, string operation, string why) =>
        new($"NativeAllocator.{operation}: pointer {Hex(ptr)} is not a block allocated by this allocator: {why}.", "ptr");

    /// <summary>A block that is already free.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static InvalidOperationException DoubleFree(void* ptr, string operation, nuint size) =>
        new($"NativeAllocator.{operation}: double free: the block at {Hex(ptr)}{(size != 0 ? $" ({size} bytes)" : string.Empty)} has already been freed.");

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

    /// <summary>An exception built elsewhere, thrown from a cold site.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw(Exception exception) => throw exception;
}
