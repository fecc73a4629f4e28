/* A Java program without sockets (tests/data/make_phases.sh): a 64 MiB long array and a line on
 * stdout. Its phases: the launcher's loader, the VM's set-up (runtime-init, threads) and, from
 * the open of PhaseWork.class that its command line names, its own work (main). */
public class PhaseWork {
    public static void main(String[] args) {
        long[] numbers = new long[8 << 20];
        for (int i = 0; i < numbers.length; i++) numbers[i] = i;
        System.out.println(numbers[numbers.length - 1]);
    }
}
