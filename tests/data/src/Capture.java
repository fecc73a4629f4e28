// Capture (Java): the JVM with its default ergonomics (no -Xmx on the command line, as in a
// container) for the capture-form ground truth (tests/data/make_captures.sh). It allocates a
// little, then writes its own /proc/self/maps and smaps to the files named on the command line.
import java.nio.file.Files;
import java.nio.file.Path;

public class Capture {
    public static void main(String[] args) throws Exception {
        byte[][] keep = new byte[16][];
        for (int i = 0; i < keep.length; i++) keep[i] = new byte[1 << 20];
        Files.write(Path.of(args[0]), Files.readAllBytes(Path.of("/proc/self/maps")));
        Files.write(Path.of(args[1]), Files.readAllBytes(Path.of("/proc/self/smaps")));
        System.out.println(keep.length);
    }
}
