"""Italian text material for the demo feedback and survey comments.

Written for this project. The composer (``text.py``) recombines these fragments: an opening, one or two
statements about a topic (complaint or praise), concrete details, a closing, then a writing style (typos,
abbreviations, emoji, capitals). Slots in braces are filled at random: {min} {short_min} {days} {short_days}
{amount} {n} {nth} {years} {age} {km} {months} {version} {errcode} {time} {weekday} {city} {branch} {month}
{phone} {name}.
"""

from __future__ import annotations

TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "attesa": {
        "neg": (
            "ho aspettato {min} minuti al telefono prima di parlare con qualcuno",
            "al numero verde non risponde mai nessuno",
            "{min} minuti di musichetta e poi cade la linea",
            "il call center è irraggiungibile, sempre occupato",
            "ogni volta che chiamo devo mettere in conto mezz'ora di attesa",
            "mi hanno messo in attesa {n} volte nella stessa telefonata",
            "il risponditore automatico ti rimbalza da un menu all'altro e un operatore non lo trovi mai",
            "avevo chiesto di essere richiamato e non si è fatto vivo nessuno",
            "tempi di attesa vergognosi per una banca di queste dimensioni",
            "sono rimasto in linea {min} minuti per una cosa che si risolveva in due",
            "la voce registrata dice 'attesa stimata 2 minuti' e poi passano {min} minuti",
            "per parlare con una persona bisogna avere una giornata libera",
        ),
        "neg_detail": (
            "Ho chiamato {weekday} {time} e poi di nuovo il giorno dopo.",
            "Alla fine ho riattaccato dopo {min} minuti.",
            "Ho provato {n} volte in due giorni.",
            "E intanto il problema era urgente.",
            "Ho dovuto chiamare in pausa pranzo dal lavoro, tempo perso.",
            "Il credito del cellulare se n'è andato tutto in attesa.",
            "Quando finalmente ha risposto qualcuno è caduta la linea.",
        ),
        "pos": (
            "ho parlato con un operatore dopo pochissimo",
            "risposta quasi immediata al numero verde",
            "mi hanno richiamato come promesso entro un'ora",
            "attesa minima, meno di {short_min} minuti",
            "finalmente un call center dove non si aspetta mezz'ora",
            "la richiamata è arrivata puntuale all'orario che avevo scelto",
        ),
        "pos_detail": (
            "Ho chiamato {weekday} {time} e in {short_min} minuti era tutto risolto.",
            "Nessun menu infinito, subito una persona.",
            "Anche di sabato mattina hanno risposto subito.",
        ),
    },
    "cortesia": {
        "neg": (
            "l'operatore è stato sgarbato e sbrigativo",
            "mi ha risposto con sufficienza, come se gli facessi perdere tempo",
            "nessuna empatia, sembrava leggere un copione",
            "la consulente mi interrompeva di continuo senza ascoltare",
            "mi hanno riproposto per la {nth} volta la stessa polizza che avevo già rifiutato",
            "ogni operatore ti dice una cosa diversa",
            "nessuno legge le note, ho dovuto rispiegare tutto da capo",
            "tono arrogante e zero voglia di aiutare",
            "mi sono sentito trattato come un numero",
            "l'operatrice sbuffava mentre le spiegavo il problema",
        ),
        "neg_detail": (
            "Ho chiesto di parlare con un responsabile e mi è stato detto che non era possibile.",
            "Ho dovuto ripetere il mio problema a {n} persone diverse.",
            "Alla fine mi ha chiuso il telefono in faccia.",
            "Il tutto davanti ad altri clienti, imbarazzante.",
            "Sono cliente da {years} anni, un minimo di rispetto.",
        ),
        "pos": (
            "l'operatrice è stata gentilissima e paziente",
            "{name} mi ha seguito passo passo, davvero professionale",
            "finalmente qualcuno che ascolta e capisce il problema",
            "personale cortese, competente e disponibile",
            "si vede che ci tengono al cliente",
            "mi ha spiegato tutto con calma senza farmi sentire stupido",
            "operatore preparatissimo e simpatico",
        ),
        "pos_detail": (
            "Mi ha anche richiamato il giorno dopo per verificare che fosse tutto a posto.",
            "Aveva già sotto mano tutta la mia pratica, non ho dovuto ripetere nulla.",
            "Un grazie speciale a {name}.",
            "Mi ha dato il suo interno diretto in caso di problemi.",
        ),
    },
    "app": {
        "neg": (
            "l'app non mi fa accedere",
            "l'app si blocca al login",
            "il riconoscimento dell'impronta non funziona più",
            "l'app si chiude da sola appena provo a entrare",
            "il codice OTP non arriva mai",
            "mi dice credenziali errate ma sono giuste",
            "l'app è lentissima e va in errore di continuo",
            "ogni volta devo reinserire tutto da capo",
            "mi ha bloccato l'accesso dopo {n} tentativi",
            "l'app resta sulla rotellina di caricamento all'infinito",
            "non riesco a entrare nell'app da {days} giorni",
        ),
        "neg_detail": (
            "Uso un {phone} aggiornato, quindi non è il telefono.",
            "Ho disinstallato e reinstallato {n} volte.",
            "Esce 'errore {errcode}' e nessuna spiegazione.",
            "Sono {days} giorni che non riesco a vedere il saldo.",
            "E ovviamente il numero verde era intasato.",
            "Dovevo pagare l'affitto e non ho potuto.",
        ),
        "pos": (
            "l'app è comoda e veloce",
            "faccio tutto dall'app, in filiale non ci vado più",
            "l'accesso con l'impronta è comodissimo",
            "app chiara, si trova tutto subito",
            "le notifiche in tempo reale sui pagamenti sono utilissime",
            "l'app non mi ha mai dato un problema",
        ),
        "pos_detail": (
            "In {short_min} minuti ho fatto bonifico e ricarica.",
            "Anche mia madre di {age} anni riesce a usarla.",
            "Il grafico delle spese mensili è fatto bene.",
        ),
    },
    "commissioni": {
        "neg": (
            "commissioni altissime su tutto",
            "mi hanno addebitato {amount} € di spese che nessuno mi aveva spiegato",
            "il canone è aumentato senza che nessuno mi avvisasse",
            "{amount} € per un bonifico allo sportello è un furto",
            "costi nascosti ovunque",
            "il conto doveva essere a zero spese e invece ogni trimestre trovo addebiti",
            "le spese di tenuta conto si mangiano gli interessi",
            "mi fanno pagare anche l'invio dell'estratto conto cartaceo",
        ),
        "neg_detail": (
            "Nell'estratto conto di {month} ho trovato {amount} € di spese.",
            "Ho confrontato con una banca online e pago il triplo.",
            "Se non cambia qualcosa porto il conto altrove.",
            "Nessuna comunicazione, l'ho scoperto da solo.",
        ),
        "pos": (
            "costi chiari e trasparenti",
            "finalmente un conto senza sorprese in estratto conto",
            "canone onesto per quello che offre",
            "mi hanno stornato le commissioni senza fare storie",
        ),
        "pos_detail": (
            "In {years} anni non ho mai trovato addebiti strani.",
            "Il consulente mi ha fatto passare a un conto più economico senza che lo chiedessi.",
        ),
    },
    "carta": {
        "neg": (
            "mi hanno bloccato la carta senza avvisarmi",
            "carta bloccata mentre ero all'estero, senza un euro",
            "ho bloccato la carta rubata ma la nuova non arriva",
            "dopo il blocco della carta sono passati {days} giorni e ancora niente",
            "la carta risulta ancora bloccata anche se mi avevano detto che era tutto risolto",
            "ho dovuto chiamare {n} volte per la stessa carta",
            "pagamento rifiutato alla cassa, figuraccia",
            "ogni volta che chiamo per la carta bloccata mi dicono una cosa diversa",
        ),
        "neg_detail": (
            "Ero al supermercato a {city} con la spesa già alla cassa.",
            "Mi avevano detto 5 giorni lavorativi, siamo a {days}.",
            "Ogni volta mi rispondono che la pratica è in lavorazione.",
            "Sono rimasto senza carta per un weekend intero.",
            "Nel frattempo non posso nemmeno prelevare.",
        ),
        "pos": (
            "ho perso il portafoglio e mi hanno bloccato la carta in due minuti",
            "blocco immediato e nuova carta arrivata in pochi giorni",
            "l'operatore ha bloccato la carta e mi ha tranquillizzato subito",
            "bloccare la carta dall'app è stato semplicissimo",
        ),
        "pos_detail": (
            "La nuova carta è arrivata dopo {short_days} giorni, già attiva.",
            "Mi hanno anche segnalato un addebito sospetto prima che me ne accorgessi.",
        ),
    },
    "rimborso": {
        "neg": (
            "aspetto ancora il rimborso di {amount} €",
            "addebito non riconosciuto e nessuno mi restituisce i soldi",
            "la pratica di rimborso è ferma da {days} giorni",
            "mi hanno respinto il rimborso senza una motivazione",
            "mi avevano promesso il riaccredito entro una settimana",
            "il reclamo è stato chiuso senza che nessuno mi rispondesse davvero",
            "per il rimborso mi hanno chiesto documenti che avevo già mandato",
        ),
        "neg_detail": (
            "Ho mandato {n} PEC con tutte le ricevute richieste.",
            "Sono soldi miei e li rivoglio.",
            "La risposta al reclamo è arrivata dopo {days} giorni ed era un copia e incolla.",
            "Sto pensando di rivolgermi all'Arbitro Bancario.",
        ),
        "pos": (
            "rimborso arrivato in pochi giorni",
            "hanno riconosciuto subito l'errore e riaccreditato {amount} €",
            "pratica di rimborso gestita in modo impeccabile",
            "il reclamo è stato preso sul serio e risolto",
        ),
        "pos_detail": (
            "Mi hanno anche mandato una mail con il riepilogo della pratica.",
            "Risposta scritta e firmata, chiara e nei tempi promessi.",
        ),
    },
    "filiale": {
        "neg": (
            "in filiale c'era un solo sportello aperto e una fila lunghissima",
            "la filiale di {branch} ha orari ridicoli",
            "per un appuntamento in filiale servono settimane",
            "hanno chiuso la filiale sotto casa e ora devo fare {km} km",
            "il bancomat della filiale è sempre fuori servizio",
            "il direttore di filiale non si fa mai trovare",
            "in filiale mi hanno rimandato al numero verde",
        ),
        "neg_detail": (
            "Ho aspettato {min} minuti in piedi.",
            "Sono andato {weekday} mattina ed era chiuso per formazione.",
            "La cassa chiude alle 13, come negli anni '80.",
            "Il consulente cambia ogni sei mesi.",
        ),
        "pos": (
            "in filiale a {branch} sono sempre gentilissimi",
            "il mio consulente in filiale mi conosce e mi segue da anni",
            "appuntamento fissato in giornata, consulenza chiara",
            "filiale accogliente e personale preparato",
            "allo sportello mi hanno risolto tutto in cinque minuti",
        ),
        "pos_detail": (
            "Mi hanno dedicato quasi un'ora senza nessuna fretta.",
            "Si ricordavano perfino del mio ultimo appuntamento.",
        ),
    },
    "bonifico": {
        "neg": (
            "ho fatto un bonifico {weekday} e dopo {days} giorni non è ancora arrivato",
            "bonifico istantaneo che di istantaneo non ha niente",
            "il bonifico è stato stornato senza motivo",
            "mi hanno bloccato un bonifico per verifiche e nessuno sa dirmi niente",
            "bonifico partito in ritardo e ho pagato la mora sull'affitto",
            "il bonifico risulta eseguito ma il beneficiario non ha ricevuto nulla",
        ),
        "neg_detail": (
            "Importo di {amount} €, non proprio spiccioli.",
            "Il CRO me l'hanno dato solo dopo {n} richieste.",
            "Il destinatario è un fornitore e ho fatto una pessima figura.",
        ),
        "pos": (
            "bonifici istantanei davvero immediati",
            "faccio bonifici dall'app in pochi secondi",
            "bonifico estero arrivato prima del previsto",
            "hanno rintracciato subito un bonifico che sembrava perso",
        ),
        "pos_detail": (
            "Ricevuta in pdf subito disponibile.",
            "Il beneficiario aveva i soldi dopo {short_min} minuti.",
        ),
    },
    "mutuo": {
        "neg": (
            "la pratica del mutuo va avanti da {months} mesi",
            "per il mutuo mi hanno chiesto gli stessi documenti {n} volte",
            "il tasso del mutuo è cambiato all'ultimo momento",
            "la delibera del mutuo è arrivata a pochi giorni dal rogito",
            "la surroga del mutuo è un percorso a ostacoli",
            "il consulente mutui non risponde né al telefono né alle mail",
        ),
        "neg_detail": (
            "Il notaio era già fissato e il venditore minacciava di saltare tutto.",
            "Nessuno sa dirmi a che punto è la perizia.",
            "Ansia pura per settimane.",
        ),
        "pos": (
            "il consulente mutui mi ha seguito benissimo",
            "mutuo approvato in tempi record",
            "condizioni del mutuo chiare fin dall'inizio",
            "mi hanno spiegato ogni voce del mutuo senza fretta",
        ),
        "pos_detail": (
            "Rogito fatto a {city} senza intoppi.",
            "Delibera arrivata in {short_days} giorni, come promesso.",
        ),
    },
}

# The app release that broke the login (planted in spring 2026): details that only appear in that window.
RELEASE = (
    "da quando è uscita la versione {version} non funziona più niente",
    "dall'aggiornamento di marzo il login è un disastro",
    "con il nuovo aggiornamento mi chiede il codice ogni volta e poi va in errore",
    "dopo l'ultimo aggiornamento l'impronta non viene più riconosciuta",
    "avete rilasciato un aggiornamento senza testarlo?",
    "la nuova versione dell'app mi butta fuori a ogni accesso",
)

OPENINGS: dict[str, tuple[str, ...]] = {
    "neg": (
        "Pessima esperienza.", "Sono senza parole.", "Cliente da {years} anni e mai trattato così.",
        "Scrivo per l'ennesima volta.", "Vergognoso.", "Che delusione.", "Lasciate perdere questa banca.",
        "Allora.", "Ragazzi, ma davvero?", "Premetto che non scrivo mai recensioni.", "Basta.",
        "Ennesimo disservizio.", "Ma è normale?",
    ),
    "pos": (
        "Esperienza ottima.", "Voglio fare i complimenti.", "Devo dire la verità:", "Cliente da {years} anni.",
        "Raramente lascio recensioni, ma stavolta sì.", "Servizio top.", "Bravi!", "Sorpresa positiva.",
    ),
    "mixed": (
        "Luci e ombre.", "Esperienza così così.", "Non tutto da buttare.", "Mah.", "Dipende dai giorni.",
        "Cliente da {years} anni, qualcosa va e qualcosa no.",
    ),
}

FORMAL_OPENINGS: dict[str, tuple[str, ...]] = {
    "complaint": (
        "Con la presente intendo presentare formale reclamo.",
        "Spett.le Banca Esempio, scrivo per contestare quanto segue.",
        "Oggetto: reclamo.",
        "Buongiorno, sono costretto a presentare reclamo.",
        "Al servizio reclami.",
    ),
    "email": (
        "Buongiorno,", "Gentile Banca Esempio,", "Salve,", "Buonasera,", "Gentili signori,",
    ),
}

CLOSINGS: dict[str, tuple[str, ...]] = {
    "neg": (
        "Vergogna.", "Sto valutando di cambiare banca.", "Chiudo il conto appena posso.", "Non vi consiglio.",
        "Spero che qualcuno legga.", "Mai più.", "Ridicoli.", "Delusissimo.", "Una stella è anche troppo.",
        "Fate qualcosa.", "Da evitare.", "Pessimi.",
    ),
    "pos": (
        "Grazie!", "Consigliatissima.", "Bravi, continuate così.", "Cinque stelle meritate.",
        "Mi trovo benissimo.", "Grazie ancora a tutto il team.", "Promossi.", "Super consigliata.",
    ),
    "mixed": (
        "Si può migliorare.", "Vediamo come va.", "Per ora resto, ma non so.", "Tre stelle di stima.",
        "Peccato.", "Insomma.",
    ),
}

FORMAL_CLOSINGS: dict[str, tuple[str, ...]] = {
    "complaint": (
        "Chiedo il rimborso di quanto addebitato e una risposta scritta entro i termini di legge.",
        "Resto in attesa di un cortese riscontro.",
        "In mancanza di risposta mi rivolgerò all'Arbitro Bancario Finanziario.",
        "Distinti saluti.",
    ),
    "email": (
        "Cordiali saluti", "Grazie, saluti", "In attesa di riscontro, saluti", "Grazie mille", "Buona giornata",
    ),
}

# Wrap a negative statement into a rhetorical rant.
WRAPPERS_NEG = (
    "Ma com'è possibile che {s}?", "{s}. Assurdo.", "Ancora una volta: {s}.", "{s}... roba da matti.",
    "Non ci posso credere, {s}.", "Morale: {s}.", "{s}. Ma scherziamo?",
)
# Joining the two halves of a mixed text: before a complaint, or before praise.
CONNECTORS = {
    "neg": (" però ", " ma ", ", peccato che ", ", mentre ", ". Però ", ". D'altra parte "),
    "pos": (" però ", " ma ", ". Invece ", ", anche se devo dire che ", ". D'altra parte ", ". Almeno "),
}

SHORT: dict[str, tuple[str, ...]] = {
    "neg": ("pessimi", "da evitare", "servizio scadente", "una vergogna", "male", "zero", "non ci siamo",
            "lentissimi", "nn rispondono mai", "delusione"),
    "pos": ("tutto ok 👍", "ottimo servizio", "bene così", "perfetto", "veloci e gentili", "nulla da dire",
            "top", "grazie!", "soddisfatto", "tutto risolto, grazie"),
    "mixed": ("così così", "niente di speciale", "nella media", "si può fare meglio", "ok ma lento",
              "normale", "sufficiente"),
}

INTERJECTIONS: dict[str, tuple[str, ...]] = {
    "neg": ("boh", "mah", "assurdo", "ma dai", "allucinante", "che schifo", "pazzesco", "incredibile",
            "raga", "vabbè"),
    "pos": ("top", "grandi", "wow", "evviva", "finalmente"),
}

# Casual Italian: (full form, abbreviations); applied word by word, with some probability.
ABBREVIATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("non", ("nn",)), ("comunque", ("cmq",)), ("perché", ("xké", "xchè", "perchè", "perche")),
    ("che", ("ke",)), ("per", ("x",)), ("messaggio", ("msg",)), ("minuti", ("min",)),
    ("grazie", ("grz", "grazie mille")), ("niente", ("nnt",)), ("più", ("+",)), ("sono", ("so",)),
    ("anche", ("anke",)), ("qualcosa", ("qlcs",)), ("numero", ("n.",)), ("questo", ("sto",)),
)
ACCENT_DROPS: tuple[tuple[str, str], ...] = (("è", "e'"), ("à", "a'"), ("ò", "o'"), ("ù", "u'"), ("é", "e"))

HASHTAGS = ("#bancaesempio", "#servizioclienti", "#banche", "#disservizio", "#customercare", "#app")
MENTION = "@BancaEsempio"

SLOTS: dict[str, tuple[str, ...]] = {
    "weekday": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"),
    "month": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "settembre",
              "ottobre", "novembre", "dicembre"),
    "city": ("Milano", "Roma", "Napoli", "Torino", "Bologna", "Firenze", "Bari", "Palermo", "Verona",
             "Genova", "Padova", "Brescia", "Lecce", "Parma", "Trieste"),
    "branch": ("Milano Isola", "Roma Prati", "Napoli Vomero", "Bologna Centro", "Torino Crocetta",
               "Verona", "Firenze Rifredi", "Bari Murat", "Padova", "Brescia", "Genova Brignole"),
    "name": ("Giulia", "Marco", "Francesca", "Luca", "Sara", "Andrea", "Chiara", "Paolo", "Elena",
             "Davide", "la signora Rossi", "il signor Bianchi"),
    "phone": ("iPhone 15", "Samsung S23", "Pixel 8", "Xiaomi nuovo", "iPhone 13", "Redmi Note"),
    "time": ("alle 9", "alle 9:30", "verso le 11", "all'ora di pranzo", "alle 15", "nel pomeriggio",
             "alle 18", "di mattina presto"),
    "nth": ("terza", "quarta", "quinta", "ennesima"),
}
