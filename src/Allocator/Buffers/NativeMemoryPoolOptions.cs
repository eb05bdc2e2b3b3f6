namespace Allocator.Buffers;

/// <summary>The settings of a <see cref="NativeMemoryPool{T}"/>, fixed when the pool is made.</summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Option</term><description>Default: meaning</description></listheader>
/// <item><term><see cref="DefaultBufferSize"/></term><description>null (4096 bytes' worth of elements): what <c>Rent(-1)</c> asks for.</description></item>
/// <item><term><see cref="MaxBufferSize"/></term><description>2^30 elements (1 GiB of bytes): the largest rent; above it <c>Rent</c> throws <see cref="ArgumentOutOfRangeException"/>.</description></item>
/// <item><term><see cref="ClearOnRent"/></term><description>false: every rented block is all zero.</description></item>
/// <item><term><see cref="ClearOnReturn"/></term><description>false: every block is zeroed before it goes back (so no data outlives its owner).</description></item>
/// <item><term><see cref="ByteBudget"/></term><description><see cref="long.MaxValue"/> (none): the most bytes outstanding at once; a rent beyond it throws <see cref="InsufficientMemoryException"/>.</description></item>
/// <item><term><see cref="Checked"/></term><description><see cref="AllocatorOptions.Checked"/>: records the stack of every rent, so that a leaked owner reports where it was rented.</description></item>
/// </list>
/// </remarks>
public sealed class NativeMemoryPoolOptions
{
    /// <summary>The default: what <see cref="NativeMemoryPool.Shared"/> uses.</summary>
    public static NativeMemoryPoolOptions Default { get; } = new();

    /// <summary>Elements given by <c>Rent(-1)</c>; null gives 4096 bytes' worth (at least one element), like <c>MemoryPool&lt;byte&gt;.Shared</c>.</summary>
    public int? DefaultBufferSize { get; init; }

    /// <summary>The largest rent, in elements. The default, 2^30, is 1 GiB of bytes.</summary>
    public int MaxBufferSize { get; init; } = 1 << 30;

    /// <summary>True to zero every block before handing it out.</summary>
    public bool ClearOnRent { get; init; }

    /// <summary>True to zero every block when it is returned (disposed or finalized).</summary>
    public bool ClearOnReturn { get; init; }

    /// <summary>The most bytes (counted as <c>Memory.Length</c> × element size) outstanding at once.</summary>
    public long ByteBudget { get; init; } = long.MaxValue;

    /// <summary>True to record the stack trace of every rent, reported when its owner leaks. Costs a stack walk per rent.</summary>
    public bool Checked { get; init; } = AllocatorOptions.Checked;
}
