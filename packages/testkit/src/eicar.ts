// The EICAR anti-virus test string, assembled at run time so that this source
// file itself is not flagged by scanners that read the repository.
const PARTS = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-', 'TEST-FILE!$H+H*'];

export const EICAR = PARTS.join('');

/** SpamAssassin's GTUBE test string: any message containing it scores 1000. */
export const GTUBE = ['XJS*C4JDBQADN1.NSBN3*2IDNEN*', 'GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'].join('');
