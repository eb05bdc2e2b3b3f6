namespace Allocator.Inspect;

/// <summary>Draws a heap report's segments and pages: one row per segment, one cell per page, shaded by fullness.</summary>
internal static class HeapPicture
{
    public static void Save(HeapReport report, string path) => throw new NotImplementedException();
}
