"""Word lists the synthetic world draws from: names, everyday vocabulary, domains.

Kept as plain tuples so the generator needs no data files. Lists are ordered roughly by
frequency; samplers put Zipf weights on them so common names and words recur the way
they do in real populations ("John Smith" exists several times).
"""

from __future__ import annotations

__all__ = [
    "ADJECTIVES",
    "ADVERBS",
    "CARRIER_NAMES",
    "CLOSINGS",
    "EMAIL_PROVIDERS",
    "FIRST_NAMES",
    "GREETINGS",
    "LAST_NAMES",
    "NOUNS",
    "POPULAR_HOSTS",
    "PREPOSITIONS",
    "SHORTENERS",
    "SPAMMY_WORDS",
    "TAIL_TLDS",
    "TIMES",
    "VERBS",
    "VERBS_ING",
    "VERBS_PAST",
]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    """
    John Michael David James Robert Maria Sarah Jennifer Daniel Chris Anna Laura Emma
    William Thomas Jessica Paul Mark Lisa Andrew Emily Kevin Karen Peter Linda Richard
    Susan Joseph Mary Brian Elizabeth Steven Olivia Matthew Sophie Alex Rachel Ben Kate
    Tom Nick Sam Luke Jack Hannah Amy Claire Rebecca Oliver Harry George Charlotte Lucy
    Grace Megan Ryan Jason Eric Adam Justin Brandon Tyler Aaron Nathan Kyle Jacob Ethan
    Noah Liam Mason Logan Lucas Mia Ava Chloe Zoe Lily Ella Isabella Sofia Camila Lena
    Julia Paula Carlos Juan Luis Jose Miguel Pedro Diego Javier Pablo Sergio Alejandro
    Ana Lucia Carmen Elena Isabel Marta Sara Laia Giulia Francesca Marco Luca Matteo
    Andrea Alessandro Giorgio Pierre Jean Louis Camille Manon Chloé Léa Hugo Théo Jules
    Lukas Leon Finn Jonas Felix Max Paul Anna Lea Marie Sophie Hanna Jan Tim Niklas
    Ahmed Mohammed Ali Omar Yusuf Fatima Aisha Leila Amir Hassan Priya Rahul Arjun
    Ananya Vikram Sanjay Deepa Neha Rohan Aditya Wei Li Chen Yan Ming Hiroshi Yuki
    Kenji Akiko Sakura Takeshi Min Jisoo Hyun Seo Olga Ivan Dmitri Natalia Sergei
    Katarzyna Piotr Tomasz Agnieszka Lars Erik Ingrid Astrid Sven Freya Niamh Sean
    Aoife Ciaran Siobhan Declan Fiona Hamish Isla Callum Ewan Kwame Ama Kofi Chidi
    Ngozi Tunde Zanele Thabo Lerato Joao Beatriz Rafael Gabriel Mateus Larissa Diana
    Victor Oscar Hector Ruben Irene Nuria Sofía José Zoë Björn Søren Jürgen Émilie
    """
)

LAST_NAMES = _words(
    """
    Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Wilson
    Anderson Taylor Thomas Moore Jackson Martin Lee Thompson White Harris Clark Lewis
    Robinson Walker Young Allen King Wright Scott Hill Green Adams Baker Nelson Carter
    Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart
    Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Bell Kelly Howard Ward
    Cox Richardson Wood Watson Brooks Bennett Gray Hughes Price Sanders Myers Long Ross
    Foster Powell Jenkins Perry Russell Sullivan Butler Barnes Fisher Henderson Coleman
    Patterson Jordan Graham Reynolds Hamilton Ford Wallace Gibson Ellis Stevens Murray
    Walsh Byrne Ryan OBrien Kennedy McCarthy Doyle Lynch Quinn Fraser Reid MacDonald
    Muller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch
    Richter Klein Wolf Neumann Schwarz Zimmermann Krüger Hartmann Lange Werner Müller
    Dubois Durand Lefebvre Moreau Laurent Simon Michel Leroy Roux Fontaine Bernard
    Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo
    Fernandez Lopez Gonzalez Perez Sanchez Ramirez Torres Flores Rivera Gomez Diaz
    Morales Ortiz Castillo Romero Herrera Medina Vargas Castro Ruiz Alvarez Jimenez
    Silva Santos Oliveira Souza Pereira Costa Almeida Carvalho Ferreira Rodrigues
    Kowalski Nowak Wisniewski Novak Horvat Ivanov Petrov Smirnov Popov Volkov Kuznetsov
    Andersson Johansson Larsson Nilsson Hansen Jensen Nielsen Berg Lindqvist Virtanen
    Patel Shah Singh Kumar Sharma Gupta Mehta Reddy Iyer Nair Khan Hussain Ahmed Malik
    Chen Wang Zhang Liu Yang Huang Zhao Wu Zhou Xu Tanaka Suzuki Sato Takahashi Watanabe
    Yamamoto Nakamura Kim Park Choi Jung Kang Nguyen Tran Pham Le Okafor Mensah Adeyemi
    Mokoena Dlamini Nkosi Okonkwo Abebe Haddad Nasser Cohen Levi Friedman Goldberg
    """
)

# Everyday vocabulary for free-form messages between people who know each other.
NOUNS = _words(
    """
    time day week weekend month year morning evening night plan idea thing question
    answer problem reason point story news update note list message call email text
    photo picture video song album playlist podcast movie show series episode book
    chapter article recipe dinner lunch breakfast brunch coffee tea cake pizza salad
    soup sandwich pasta burger curry wine beer drink snack dessert party birthday
    wedding anniversary holiday trip flight train bus car bike ride walk run hike swim
    game match team score ticket concert festival gig museum gallery exhibition park
    beach lake river mountain forest garden kitchen bathroom bedroom house flat apartment
    room office desk meeting call agenda project deadline report draft document file
    folder spreadsheet slide presentation budget invoice receipt contract schedule
    calendar appointment doctor dentist pharmacy hospital school class lesson homework
    exam teacher student course lecture library shop store market supermarket mall
    order delivery package parcel address key door window roof fence wall floor table
    chair sofa bed lamp plant flower tree grass dog cat puppy kitten bird horse
    neighbour friend family mum dad brother sister cousin aunt uncle grandma grandpa kid
    baby boss colleague client manager team volunteer coach player fan guest host
    weather rain snow sun wind storm heat cold forecast sky cloud moon star sunset
    phone laptop tablet camera screen charger cable printer router password account app
    update website blog post comment review rating price deal sale discount coupon
    bill rent mortgage loan bank card cash change payment refund tax salary bonus
    job interview offer shift break vacation leave sickday errand chore laundry dishes
    groceries shopping list menu reservation table booking hotel room view pool gym
    workout yoga class lesson practice rehearsal recital audition script stage
    costume dress shirt jacket coat shoes boots hat scarf bag backpack wallet watch
    glasses umbrella bottle cup mug plate bowl fork knife spoon pan pot oven fridge
    freezer microwave kettle toaster blender fan heater blanket pillow towel soap
    toothbrush shampoo medicine vitamin bandage plaster map guide route traffic road
    street corner bridge station airport terminal gate platform seat luggage passport
    visa border hostel camping tent fire barbecue picnic blanket basket football
    tennis golf cricket rugby basketball baseball hockey volleyball chess puzzle quiz
    crossword board card dice toy gift present surprise card letter postcard stamp
    neighbourhood village town city country island coast harbour boat ferry cruise
    garage shed tool hammer drill paint brush ladder repair leak plumber electrician
    builder landlord tenant lease deposit insurance claim form application permit
    election vote council meeting petition charity donation fundraiser raffle auction
    """
)

VERBS = _words(
    """
    bring send check call text book grab pick drop share finish start try make take
    find fix move clean cook bake buy sell order pay split borrow lend return cancel
    confirm change move sort review read watch listen play visit meet join host plan
    organise print sign scan upload download forward save delete update install charge
    drive park walk carry wrap post mail collect deliver feed walk water paint repair
    practice learn teach help ask remind invite tell show explain discuss decide choose
    compare test open close lock leave keep hold wait stay rest relax sleep wake
    celebrate remember forget miss catch chase pack unpack load unload fill empty count
    measure cut trim mow sweep wash dry iron fold hang wear swap trade rent hire fire
    """
)

VERBS_PAST = _words(
    """
    brought sent checked called texted booked grabbed picked dropped shared finished
    started tried made took found fixed moved cleaned cooked baked bought sold ordered
    paid split borrowed lent returned cancelled confirmed changed sorted reviewed read
    watched listened played visited met joined hosted planned organised printed signed
    scanned uploaded downloaded forwarded saved deleted updated installed charged drove
    parked walked carried wrapped posted mailed collected delivered fed watered painted
    repaired practised learned taught helped asked reminded invited told showed
    explained discussed decided chose compared tested opened closed locked left kept
    held waited stayed rested slept woke celebrated remembered forgot missed caught
    packed unpacked loaded filled counted measured cut trimmed mowed swept washed dried
    """
)

VERBS_ING = _words(
    """
    bringing sending checking calling booking picking sharing finishing starting trying
    making taking finding fixing moving cleaning cooking baking buying selling ordering
    paying reviewing reading watching listening playing visiting meeting joining
    hosting planning organising printing signing uploading updating driving walking
    carrying collecting painting repairing practising learning teaching helping asking
    inviting explaining discussing deciding choosing testing waiting staying resting
    celebrating packing running cycling swimming hiking travelling working studying
    """
)

ADJECTIVES = _words(
    """
    good great nice new old big small little long short early late quick slow easy
    hard busy free quiet loud warm cold hot cool wet dry fresh clean dirty cheap
    expensive fancy simple lovely amazing awesome terrible awful weird funny strange
    happy sad tired sleepy hungry full ready sorry sure glad excited nervous calm
    important urgent final rough quick short local nearby favourite usual normal
    perfect decent fine okay massive tiny huge crazy wild gentle kind sweet sour
    spicy salty crispy soft heavy light bright dark sunny rainy windy cloudy foggy
    snowy icy stormy noisy crowded empty open closed broken missing lost spare extra
    second third last next previous upcoming weekly monthly annual daily regular
    special strange famous popular boring useful helpful handy tricky messy tidy
    cosy comfy chilly sticky smooth shiny fluffy green blue red yellow purple orange
    pink black white grey golden silver wooden plastic paper digital online offline
    """
)

ADVERBS = _words(
    """
    really very quite pretty just still already actually probably maybe definitely
    honestly totally finally literally basically nearly almost nearly somehow anyway
    hopefully luckily sadly quickly slowly carefully properly easily barely mostly
    """
)

PREPOSITIONS = _words("at in on near after before with for from behind around during since")

TIMES = (
    "today",
    "tonight",
    "tomorrow",
    "this morning",
    "this afternoon",
    "this evening",
    "this weekend",
    "next week",
    "next weekend",
    "on Monday",
    "on Tuesday",
    "on Wednesday",
    "on Thursday",
    "on Friday",
    "on Saturday",
    "on Sunday",
    "later",
    "soon",
    "after lunch",
    "after work",
    "before noon",
    "by Friday",
    "by the end of the day",
    "at some point",
    "in an hour",
    "in a bit",
    "last night",
    "yesterday",
    "earlier",
    "first thing",
)

GREETINGS = ("Hi", "Hey", "Hello", "Hiya", "Morning", "Evening", "Yo", "Dear", "Hi there")
CLOSINGS = (
    "Thanks",
    "Thanks!",
    "Cheers",
    "See you",
    "See you soon",
    "Talk soon",
    "Best",
    "xx",
    "x",
    "Love",
    "Speak later",
    "Let me know",
    "Thx",
    "Ta",
)

# Free-mail providers with rough market shares (weights are relative).
EMAIL_PROVIDERS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 44.0),
    ("yahoo.com", 8.0),
    ("outlook.com", 7.0),
    ("hotmail.com", 7.0),
    ("icloud.com", 6.0),
    ("aol.com", 2.0),
    ("proton.me", 2.0),
    ("gmx.de", 3.0),
    ("web.de", 2.0),
    ("mail.ru", 2.0),
    ("yandex.ru", 1.5),
    ("orange.fr", 1.5),
    ("free.fr", 1.0),
    ("btinternet.com", 1.5),
    ("yahoo.co.uk", 2.0),
    ("hotmail.co.uk", 1.5),
    ("comcast.net", 1.5),
    ("live.com", 2.0),
    ("qq.com", 1.5),
    ("libero.it", 1.0),
    ("t-online.de", 1.0),
    ("bigpond.com", 0.8),
    ("naver.com", 0.8),
    ("uol.com.br", 0.7),
)

CARRIER_NAMES = ("mobile-a", "mobile-b", "mobile-c", "mobile-d", "mobile-e", "mobile-f")

# Popular hosts people link to, most popular first (Zipf weights are put on the order).
POPULAR_HOSTS = _words(
    """
    www.youtube.com youtu.be www.google.com en.wikipedia.org www.instagram.com
    www.facebook.com x.com twitter.com www.reddit.com www.amazon.com open.spotify.com
    www.nytimes.com www.theguardian.com news.bbc.co.uk www.bbc.co.uk www.bbc.com
    docs.google.com drive.google.com maps.google.com www.linkedin.com github.com
    www.netflix.com www.imdb.com www.cnn.com www.washingtonpost.com medium.com
    www.tiktok.com www.amazon.co.uk www.ebay.com www.etsy.com www.pinterest.com
    music.apple.com www.apple.com stackoverflow.com www.dropbox.com zoom.us
    www.reuters.com apnews.com www.npr.org www.abc.net.au www.smh.com.au www.cbc.ca
    www.lemonde.fr www.spiegel.de elpais.com www.corriere.it www.dailymail.co.uk
    www.independent.co.uk www.telegraph.co.uk www.ft.com www.economist.com www.wsj.com
    www.forbes.com techcrunch.com www.theverge.com www.wired.com arstechnica.com
    www.espn.com www.skysports.com www.goal.com www.booking.com www.airbnb.com
    www.tripadvisor.com www.tripadvisor.co.uk www.yelp.com www.allrecipes.com
    www.bbcgoodfood.com www.nhs.uk www.gov.uk www.who.int www.nasa.gov www.nature.com
    arxiv.org www.quora.com archive.org substack.com vimeo.com soundcloud.com
    bandcamp.com www.goodreads.com www.ikea.com www.walmart.com www.target.com
    www.bestbuy.com www.argos.co.uk www.tesco.com www.zalando.de www.otto.de
    www.rakuten.co.jp www.mercadolibre.com.ar www.globo.com www.uol.com.br
    www.news.com.au www.stuff.co.nz www.rte.ie www.irishtimes.com www.aljazeera.com
    www.dw.com www.france24.com www.euronews.com www.politico.com www.axios.com
    www.vox.com www.buzzfeed.com www.huffpost.com www.nbcnews.com www.cbsnews.com
    www.foxnews.com www.usatoday.com www.latimes.com www.theatlantic.com
    www.newyorker.com time.com www.nationalgeographic.com www.khanacademy.org
    www.coursera.org www.udemy.com www.duolingo.com www.strava.com www.meetup.com
    www.eventbrite.com www.eventbrite.co.uk www.canva.com www.figma.com www.notion.so
    trello.com slack.com www.paypal.com www.kickstarter.com www.gofundme.com
    www.change.org www.patreon.com steamcommunity.com store.steampowered.com
    www.nintendo.com www.playstation.com www.chess.com lichess.org
    timesofindia.indiatimes.com www.ndtv.com www.hindustantimes.com www.scmp.com
    www3.nhk.or.jp www.asahi.com www.japantimes.co.jp www.straitstimes.com
    www.theage.com.au www.nzherald.co.nz www.thetimes.co.uk www.mirror.co.uk
    www.standard.co.uk www.manchestereveningnews.co.uk www.bristolpost.co.uk
    www.lefigaro.fr www.liberation.fr www.zeit.de www.sueddeutsche.de www.faz.net
    www.repubblica.it www.lastampa.it www.elmundo.es www.lavanguardia.com
    www.publico.pt www.nos.nl www.nu.nl www.svt.se www.nrk.no www.dr.dk www.yle.fi
    www.bloomberg.com www.cnbc.com www.marketwatch.com www.investopedia.com
    www.weather.com www.metoffice.gov.uk www.accuweather.com www.bbc.co.uk
    en.m.wikipedia.org de.wikipedia.org fr.wikipedia.org es.wikipedia.org
    m.youtube.com m.facebook.com mobile.twitter.com www.twitch.tv www.wordpress.com
    blogspot.com www.tumblr.com www.flickr.com photos.google.com www.icloud.com
    www.whatsapp.com web.whatsapp.com t.me discord.gg www.eventim.de
    www.ticketmaster.com www.ticketmaster.co.uk www.seatgeek.com www.rightmove.co.uk
    www.zillow.com www.realestate.com.au www.autotrader.co.uk www.cars.com
    www.gumtree.com www.craigslist.org www.depop.com www.vinted.co.uk www.asos.com
    www.hm.com www.zara.com www.uniqlo.com www.nike.com www.adidas.com
    www.decathlon.co.uk www.johnlewis.com www.marksandspencer.com www.sainsburys.co.uk
    www.ocado.com www.waitrose.com www.deliveroo.co.uk www.ubereats.com
    www.doordash.com www.opentable.com www.thefork.com www.skyscanner.net
    www.expedia.com www.ryanair.com www.easyjet.com www.britishairways.com
    www.lufthansa.com www.nationalrail.co.uk www.thetrainline.com www.citymapper.com
    www.royalmail.com www.dhl.com www.ups.com www.fedex.com www.usps.com
    """
)

SHORTENERS = ("bit.ly", "tinyurl.com", "t.co", "ow.ly", "buff.ly", "goo.gl", "rb.gy")

# Top-level suffixes of the long tail, multi-label ones included, with relative weights.
TAIL_TLDS: tuple[tuple[str, float], ...] = (
    ("com", 40.0),
    ("net", 6.0),
    ("org", 7.0),
    ("co.uk", 6.0),
    ("org.uk", 1.5),
    ("de", 5.0),
    ("fr", 3.0),
    ("nl", 2.0),
    ("es", 2.0),
    ("it", 2.0),
    ("io", 3.0),
    ("co", 2.0),
    ("me", 1.5),
    ("info", 1.5),
    ("blog", 1.0),
    ("com.au", 2.0),
    ("co.nz", 1.0),
    ("ca", 2.0),
    ("ie", 1.0),
    ("com.br", 1.5),
    ("co.jp", 1.0),
    ("in", 1.5),
    ("us", 1.0),
    ("xyz", 1.0),
    ("shop", 1.0),
    ("online", 0.8),
    ("site", 0.6),
    ("top", 0.5),
    ("app", 1.0),
    ("dev", 0.8),
)

# Words that campaign (spam) domains like to be built from; legit long-tail domains use
# ordinary nouns and adjectives, and half of all campaign domains do as well.
SPAMMY_WORDS = _words(
    """
    win prize bonus reward gift claim lucky free deal deals offer promo cash money
    profit crypto coin bitcoin invest yield trade wealth rich fast easy secure verify
    account login update support help desk service alert notice parcel track delivery
    pharma pills meds health slim diet keto glow beauty date dating singles love match
    loan credit score refund tax rebate survey quiz spin casino bet jackpot vip club
    elite prime best top mega super hot new now today smart pro plus hub zone center
    """
)
