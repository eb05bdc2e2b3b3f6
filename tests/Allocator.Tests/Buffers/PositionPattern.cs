namespace Allocator.Tests.Buffers;

/// <summary>
/// A byte pattern that depends on the absolute position in a stream, written and checked in 4 KiB runs of one
/// value, so both stay vectorized: a lost, repeated or reordered run shows up as a wrong byte.
/// </summary>
internal static class PositionPattern
{
    private static byte At(long position) => (byte)(((position >> 12) * 31) + 7);

    /// <summary>Writes the pattern of positions [<paramref name="start"/>, start + span.Length) into <paramref name="span"/>.</summary>
    public static void Fill(Span<byte> span, long start)
    {
        while (!span.IsEmpty)
        {
            int run = (int)Math.Min(span.Length, 4096 - (start & 4095));
            span[..run].Fill(At(start));
            span = span[run..];
            start += run;
        }
    }

    /// <summary>The absolute position of the first byte of <paramref name="span"/> that breaks the pattern, or -1.</summary>
    public static long FirstMismatch(ReadOnlySpan<byte> span, long start)
    {
        while (!span.IsEmpty)
        {
            int run = (int)Math.Min(span.Length, 4096 - (start & 4095));
            int bad = span[..run].IndexOfAnyExcept(At(start));
            if (bad >= 0)
            {
                return start + bad;
            }

            span = span[run..];
            start += run;
        }

        return -1;
    }
}
